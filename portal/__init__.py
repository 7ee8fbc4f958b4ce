"""The portal app: the ground floor (clients, users, audit, the client-area shell, money formatting)."""
