DROP TABLE accommodation_digests;
DROP TABLE accommodation_digested;
DROP TABLE accommodation_requests;
