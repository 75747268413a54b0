Feature: Marketing writes thank-you programmes as rule files
  Marketing staff write the programmes in YAML in the rules directory. A mistake is reported
  with the file, the line and the rule, and the whole set is refused until it is fixed; the
  programmes that are shipped thank customers the way marketing meant them to.

  Scenario: A typo in a fact is reported with its line
    Given the rule file "anniversary.yaml":
      """
      programme: loyal-thanks
      name: "Tri ân khách hàng thân thiết"
      rules:
        - id: second-anniversary-sme
          on: anniversary
          when:
            all:
              - segment: {in: [sme, enterprise]}
              - tenur_months: {gte: 24}
          then:
            points: 500
      """
    When marketing checks the rules
    Then the rules are refused
    And marketing reads "anniversary.yaml:9 [rule second-anniversary-sme]: unknown fact 'tenur_months'; did you mean 'tenure_months'?"

  Scenario: An SME on its second anniversary gets its thanks
    Given the programmes shipped with the engine
    And Công ty An Phát, an SME customer since 2024-03-15 with a contract of 2,500,000 VND a month
    When its anniversary comes on 2026-03-15
    Then it is given 500 points by the rule "second-anniversary-sme"
    And those points expire on 2027-03-15

  Scenario: Only the best gift of a group is given
    Given the programmes shipped with the engine
    And Công ty An Phát, an SME customer since 2024-03-15 with a contract of 2,500,000 VND a month
    When its anniversary comes on 2026-03-15
    Then only one rule of the group "anniversary-gift" gives anything
    And the rule "second-anniversary" is passed over because "second-anniversary-sme" wins its group

  Scenario: A household on its fifth anniversary gets the thank-you hamper
    Given the programmes shipped with the engine
    And Gia đình chị Lan, a home customer since 2021-06-30 with a contract of 250,000 VND a month
    When its anniversary comes on 2026-06-30
    Then it is given 500 points by the rule "fifth-anniversary"
    And it is given the reward "Giỏ quà tri ân"
