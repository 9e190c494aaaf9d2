"""The aesthetic head's class indices, in a module without torch so that map and crop code
(and the GUI that imports them at start-up) can name them without loading the network."""

LOW, HIGH = 0, 1
