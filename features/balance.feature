Feature: Customers see their points, and billing's invoices turn into points they can see
  A customer opens the app and sees what they can spend now, what is still waiting, their tier
  and what will be lost soon if they do not use it. They see only their own points. Billing
  reports paid invoices, and the points appear on the customer's balance straight away.

  Background:
    Given the programmes shipped with the engine
    And today is 25 November 2026 in Hà Nội

  Scenario: Chị Lan sees her points, tier and what expires soon
    Given Chị Lan's shop, an SME customer since 2023-05-02
    And her shop paid an invoice of 2,000,000 VND on 2025-12-10
    And her shop paid an invoice of 3,000,000 VND on 2026-11-01
    And her shop has reached the "vang" tier
    When Chị Lan opens her balance
    Then she sees 500 reward points
    And her tier is "vang"
    And 200 points can be spent until 2026-12-09 and are gone on 2026-12-10
    And nothing else expires in the next 30 days

  Scenario: A customer cannot see another customer's points
    Given Chị Lan's shop, an SME customer since 2023-05-02
    And her shop paid an invoice of 2,000,000 VND on 2026-11-01
    And Anh Minh's company, an SME customer since 2024-01-15
    When Anh Minh asks for Chị Lan's balance
    Then he is told there is no such customer
    And nothing of her points is shown to him

  Scenario: Billing posts an invoice and the customer's points appear
    Given Chị Lan's shop, an SME customer since 2023-05-02
    When billing posts that her shop paid an invoice of 5,000,000 VND today
    Then billing is told 500 points were awarded by "points-on-paid-invoice"
    And Chị Lan sees 500 reward points when she opens her balance
    And her history shows the invoice's 500 points at 10:00 Hà Nội time
