Feature: Marketing previews a draft of the programmes before publishing it
  Before a change to the rule files is published, marketing runs the draft against the real
  customers: who would be thanked over the coming year, who gains, who loses, and what it costs
  compared with the programmes in force. A draft with a mistake is refused with its line.

  Background:
    Given the programmes shipped with the engine
    And these customers:
      | name               | segment | customer since |
      | Công ty An Phát    | SME     | 2023-12-01     |
      | Công ty Hoà Bình   | SME     | 2024-03-15     |
      | Công ty Bốn Mùa    | SME     | 2023-11-25     |
      | Gia đình chị Lan   | home    | 2024-06-30     |

  Scenario: Marketing previews a more generous anniversary gift before publishing: 3 SMEs gain, nobody loses, it costs 900 points more
    Given a draft in which SMEs get 600 points instead of 300 on their third anniversary
    When marketing simulates the draft on 25 November 2026
    Then 3 customers gain and nobody loses
    And over the coming year the anniversaries cost 900 points more than in force
    And the draft's new rule thanks 3 customers with 1,800 points

  Scenario: A draft with a typo is refused with its line
    Given a draft of anniversary.yaml in which "tenure_years: {eq: 3}" is written "tenure_year: {eq: 3}"
    When marketing simulates the draft on 25 November 2026
    Then the draft is refused
    And marketing reads that anniversary.yaml has an unknown fact 'tenure_year' on the line of the third anniversary
