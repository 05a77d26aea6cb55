"""What people read: feedback workbooks, templates, the data dictionary, the status site and the annual report."""
