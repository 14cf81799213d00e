"""Webhooks both sides need: job events recorded for delivery, tenant secrets, signing, target checks.

The API checks a ``callback_url`` and serves the secret; workers sign and POST the events; the
signing module imports nothing from the farm so a receiver can copy it.
"""
