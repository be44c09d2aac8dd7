"""How much of what was issued is digitized, per unit and procedure, and requests to digitize more."""
