-- Kafka in, Kafka and the embedded log out: bids from topic "bids" (JSON records), the pricey
-- ones to topic "pricey", the per-bidder channel into the embedded log stream by_bidder.
-- Run: sluiced run examples/kafka.sql [--bounded]   (both topics must exist at the brokers)
CREATE TABLE bids (auction BIGINT, bidder BIGINT, price BIGINT, channel STRING) WITH (
  'connector' = 'kafka',
  'topic' = 'bids',
  'properties.bootstrap.servers' = 'localhost:9092',
  'properties.client.id' = 'sluice-example',
  'scan.startup.mode' = 'earliest-offset',
  'format' = 'json'
);
CREATE TABLE pricey (auction BIGINT, price BIGINT, cents BIGINT) WITH (
  'connector' = 'kafka',
  'topic' = 'pricey',
  'properties.bootstrap.servers' = 'localhost:9092',
  'format' = 'json'
);
CREATE TABLE by_bidder (bidder BIGINT, channel STRING);
INSERT INTO pricey SELECT auction, price, price * 100 AS cents FROM bids WHERE price > 250;
INSERT INTO by_bidder SELECT bidder, UPPER(channel) AS channel FROM bids WHERE bidder = 3;
