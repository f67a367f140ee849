"""The API's routers, one module per resource; :func:`app.main.create_app` includes them."""
