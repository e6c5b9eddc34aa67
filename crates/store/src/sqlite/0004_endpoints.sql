-- Internal endpoints are addressed by (instance, VPC, EniLBIp) in the seed's delete and DNS
-- actions, so that triple is unique, and DNS records hang off it (one VPC may reach an instance
-- through endpoints in several subnets, each with a record of its own). Nothing wrote
-- internal_endpoint_dns before this migration, so it is recreated rather than copied.
CREATE UNIQUE INDEX internal_endpoints_address
    ON internal_endpoints(instance_id, vpc_id, ip_address);

DROP TABLE internal_endpoint_dns;
CREATE TABLE internal_endpoint_dns (
    instance_id TEXT NOT NULL,
    vpc_id TEXT NOT NULL,
    ip_address TEXT NOT NULL,
    domain TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (instance_id, vpc_id, ip_address, domain),
    FOREIGN KEY (instance_id, vpc_id, ip_address)
        REFERENCES internal_endpoints(instance_id, vpc_id, ip_address) ON DELETE CASCADE
);

-- The SOA serial of each instance's private zone, bumped on every change to its records.
CREATE TABLE internal_endpoint_zones (
    instance_id TEXT PRIMARY KEY REFERENCES instances(id) ON DELETE CASCADE,
    serial INTEGER NOT NULL
);
