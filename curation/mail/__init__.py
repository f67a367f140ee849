"""E-mail delivery of digests: rendering, signed links, transports and the exactly-once loop.

- :mod:`curation.mail.render` turns a :class:`~curation.digest.view.DigestView` into a
  multipart (text + HTML) message from the template files in ``templates/``.
- :mod:`curation.mail.tokens` signs and checks the one-click links (feedback, unsubscribe).
- :mod:`curation.mail.transport` sends messages: an outbox folder of ``.eml`` files by default,
  or SMTP (``CURATION_SMTP_URL``).
- :mod:`curation.mail.deliver` walks the ``digest`` rows that are due and sends each one once.
- :mod:`curation.mail.links` is what the HTTP links do when followed (used by ``app/``).
"""
