"""The JSON API for issuers' accounting systems, version 1 (``/api/v1``)."""
