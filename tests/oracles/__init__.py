"""Independent references the tests hold the models to (from the equations, not the code)."""
