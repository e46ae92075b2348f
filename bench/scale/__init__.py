"""The large-estate benchmark (`bench/scale_bench.py`), by concern.

common: sizes, results, the bench database; estate: the import files and the fill;
inprocess: queries per page and periodic tasks; serve: gunicorn with 1 and 20 clients;
workers: Celery scale-out; report: the Markdown section.
"""
