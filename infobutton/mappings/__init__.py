"""Code → topic mapping rules for librarians: validation, CSV, the admin service, suggestions,
the ``infobutton admin``/``mappings`` commands and the admin API's OpenAPI document."""
