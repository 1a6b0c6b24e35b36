"""BankID for consumers.

Two halves live here:

* ``provider`` – a simulated BankID OpenID Connect provider, its own Flask app on its own
  port (``flask --app simulators.bankid.provider:create_provider_app run --port 5001``). It
  refuses to start in production.
* ``client`` – the portal's relying party: ``/bankid/login``, ``/bankid/callback``,
  ``/bankid/logout`` and the helpers ``current_consumer()``, ``consumer_login_required``
  and ``logout_consumer()``. Pointing it at a real BankID broker is configuration only.
"""
