"""Outbound webhooks: clinic systems subscribe to what happens in Medbook (see README, 'Outbound webhooks')."""
