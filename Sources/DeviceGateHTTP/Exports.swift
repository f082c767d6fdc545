// The request and response values live in HTTPMessages, below the endpoints, so that the
// FastCGI edge can use them without importing any OAuth code. Re-exported here, so every
// module that speaks HTTP through the endpoints sees them with one import.
@_exported import HTTPMessages
