"""The application shell and the HTTP layer. Importing any module here builds nothing: the app is
built by `api.app.create_app`."""
