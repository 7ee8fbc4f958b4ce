"""Staff pages of payments (each topic registers its own: see the modules imported here)."""
