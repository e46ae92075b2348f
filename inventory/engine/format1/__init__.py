"""Format-1 points (``<point>/manifest.json``, one sealed object per file or pack): the first engine's.

Old points keep this format and are read, verified and restored through
:mod:`inventory.engine.format1.read` by the same restore as the chunk store; nothing
existing is rewritten. New points are written by the chunk store.
"""
