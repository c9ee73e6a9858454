"""The review studio (`microdrama studio <dir>`): a local web app over the application layer.

server.py holds the routes, pages.py what each page shows, guard.py what is let in (token,
CSRF, Host, served files), jobs.py the long actions run in their own process. Templates and
the vendored htmx (static/htmx.min.js, 0BSD) ship inside the package: no Node build step.
Needs the `studio` extra (`pip install 'microdrama[studio]'`).
"""
