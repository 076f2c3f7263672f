"""HTTP edge: thin routers over the services; errors become HTTP responses only here."""
