"""gunicorn's settings for the API: `gunicorn -c scripts/gunicorn.conf.py -w 4 -b ADDRESS wsgi:app`.

gunicorn answers a request line or headers over its own limits itself, with an HTML page. Its
limits here are twice the app's (`api/http.py`: a 4,096-byte path and query, 100 headers of at
most 8,190 bytes each), so a request a little over the app's limits gets the app's JSON answer
(414 `uri_too_long`, 431 `headers_too_large`). Only a request over these limits, which no client
of this API sends, still gets gunicorn's page.
"""

limit_request_line = 8190  # the most gunicorn allows short of "unlimited" (a 1 MiB line)
limit_request_fields = 200
limit_request_field_size = 16380
