-- Contract §6: one row per (year, scope, figure, dimension) with the previous year's value and
-- the change (% relative, pp for percentages, otherwise the figure's own unit). Unrounded.
-- A certified year serves its certified values (certified = true).
CREATE OR REPLACE VIEW annual_figures AS
SELECT * FROM figures_with_change(false);
