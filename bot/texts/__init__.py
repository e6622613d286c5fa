"""Everything a person reads: translations, labels, notices, message parts, charts and
workbooks. Imports only the domain (and the settings' language list)."""
