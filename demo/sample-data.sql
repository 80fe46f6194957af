-- Sample data for the embedded demo: a small shop whose customer table
-- holds exactly the values an agent must never see unmasked.
CREATE TABLE customers (
    id          serial PRIMARY KEY,
    name        text NOT NULL,
    email       text NOT NULL,
    phone       text,
    ssn         text,
    card_number text,
    iban        text,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE orders (
    id          serial PRIMARY KEY,
    customer_id int NOT NULL REFERENCES customers (id),
    amount      numeric(10, 2) NOT NULL,
    status      text NOT NULL DEFAULT 'new',
    created_at  timestamptz NOT NULL DEFAULT now()
);

INSERT INTO customers (name, email, phone, ssn, card_number, iban) VALUES
    ('Ada Lovelace',   'ada@example.com',    '+44 20 7946 0958',
     '078-05-1120', '4111 1111 1111 1111', 'GB82 WEST 1234 5698 7654 32'),
    ('Alan Turing',    'alan@example.org',   '+44 161 496 0735',
     '219-09-9999', '5500 0000 0000 0004', 'DE89 3704 0044 0532 0130 00'),
    ('Grace Hopper',   'grace@example.net',  '+1 202 555 0143',
     '457-55-5462', '3400 0000 0000 009',  'FR14 2004 1010 0505 0001 3M02 606'),
    ('Edsger Dijkstra','edsger@example.com', '+31 20 555 0199',
     '323-45-6789', '6011 0000 0000 0004', 'NL91 ABNA 0417 1643 00');

INSERT INTO orders (customer_id, amount, status)
SELECT 1 + (g % 4), round((random() * 500)::numeric, 2),
       (ARRAY['new', 'paid', 'shipped'])[1 + g % 3]
FROM generate_series(1, 200) g;

CREATE ROLE app LOGIN;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO app;
