"""The synthetic bank and the customer 360 view the advisor grounds every answer in."""
