"""Triggers for the shop's automation: abandoned checkout, reactivation, welcome, follow-up."""
