"""Reading received bytes into raw tables: one reader per format behind one dispatcher, and the sheet XML scan."""
