"""The warehouse's SQL: one object per file, named by layer (meta_, fact_, core_, mart_)."""
