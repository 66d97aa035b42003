"""Tables, the database with its group-committing writer, and the SQL of each resource."""
