"""Delivery channels beyond the e-mail: Slack / Teams webhooks, and each channel's cadence."""
