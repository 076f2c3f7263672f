"""Learning from outcomes at run time: the suggestion log, outcome joins and the bandit chooser."""
