-- Nexmark q0, pass-through: every bid, unchanged.
CREATE TABLE bid (
  auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING, dateTime TIMESTAMP(3), extra STRING,
  WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND
) WITH ('connector' = 'datagen', 'kind' = 'bid', 'events' = '100000', 'seed' = '1');
CREATE TABLE out (auction BIGINT, bidder BIGINT, price BIGINT, dateTime TIMESTAMP(3), extra STRING);
INSERT INTO out SELECT auction, bidder, price, dateTime, extra FROM bid;
