"""The pages of the web workspace, one module per area; every router uses
:class:`app.web.access.WebRoute`."""
