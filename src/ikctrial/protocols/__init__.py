"""Protocol files shipped with ikctrial (package data read by ``ikctrial.protocol``)."""
