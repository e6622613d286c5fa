"""Registry import: the programme's spreadsheets (CSV) into the database."""
