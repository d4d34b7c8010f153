package dynamo

// FromAttributeValues is exported for tests.
var FromAttributeValues = fromAttributeValues
