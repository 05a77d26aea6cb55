-- Contract §6: one row per (year, scope, figure, dimension) with the previous year's value and
-- the change (% relative, pp for percentages, otherwise the figure's own unit). Unrounded.
-- A certified year serves its certified values (certified = true). v3 §9: inputs_approved says whether every
-- report the figure rests on (core_figure_inputs) is approved (NULL where its inputs are not known).
CREATE OR REPLACE VIEW annual_figures AS
SELECT f.*, i.inputs_approved
FROM figures_with_change(false) f
LEFT JOIN (SELECT year, scope, figure, bool_and(state = 'approved') AS inputs_approved
           FROM core_figure_inputs GROUP BY ALL) i USING (year, scope, figure);
