"""Emails and calendar invites through a transactional outbox: written with the change that
causes them, delivered after commit (in-process, or by RQ workers when REDIS_URL is set)."""
