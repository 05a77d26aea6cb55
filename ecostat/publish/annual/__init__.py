"""The annual report: its context types, the builder, the .docx and PDF writers, charts and phrasing."""
