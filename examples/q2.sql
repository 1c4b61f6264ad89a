-- Nexmark q2, selection: the bids on every 123rd auction.
CREATE TABLE bid (
  auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING, dateTime TIMESTAMP(3), extra STRING,
  WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND
) WITH ('connector' = 'datagen', 'kind' = 'bid', 'events' = '100000', 'seed' = '1');
CREATE TABLE out (auction BIGINT, price BIGINT);
INSERT INTO out SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0;
