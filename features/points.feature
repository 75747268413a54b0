Feature: Points are kept as carefully as money
  Customers earn points when they pay their invoices, sign and renew. Points last twelve months,
  the oldest are spent first so that as few as possible are lost, and points given for a contract
  the customer cancels in its first month are taken back.

  Background:
    Given the programmes shipped with the engine

  Scenario: Points expire after twelve months
    Given Công ty An Phát, an SME customer since 2024-03-01
    And it paid an invoice of 5,000,000 VND on 2026-01-15
    When the nightly run settles points on 2027-01-14
    Then it has 500 reward points
    When the nightly run settles points on 2027-01-15
    Then it has 0 reward points
    And its history shows 500 points expired on 2027-01-15

  Scenario: The oldest points are spent first
    Given Công ty An Phát, an SME customer since 2024-03-01
    And it paid an invoice of 3,000,000 VND on 2026-02-01
    And it paid an invoice of 5,000,000 VND on 2026-05-01
    When it redeems 400 points on 2026-06-01
    Then it has 400 reward points
    And none of its points expire on 2027-02-01
    And 400 of its points expire on 2027-05-01

  Scenario: A cancelled contract in its first month takes back its welcome points
    Given Nhà hàng Sen Vàng, an SME customer since 2026-11-25
    And billing reported that it signed a contract of 3,000,000 VND a month on 2026-11-25
    And it paid an invoice of 3,000,000 VND on 2026-12-01
    When billing reports that it cancelled that contract on 2026-12-10
    Then it has 300 reward points
    And it has no points waiting
    And its history shows its 500 welcome points taken back
    And the books balance
