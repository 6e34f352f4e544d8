DROP TABLE site_keys;
