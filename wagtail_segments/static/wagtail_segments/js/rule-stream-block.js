/* wagtail_segments: the stream of a segment's rules in the editor.
 *
 * Wagtail's stream block, plus the definition of an "unavailable rule" (a
 * stored rule whose type is not registered): such rules are rendered, read
 * only, and posted back unchanged, but the menu never offers to add one.
 */
(function () {
  "use strict";
  var StreamBlockDefinition = window.wagtailStreamField.blocks.StreamBlockDefinition;

  class RuleStreamBlockDefinition extends StreamBlockDefinition {
    constructor(name, groupedChildBlockDefs, initialChildStates, meta, unavailableRuleDef) {
      super(name, groupedChildBlockDefs, initialChildStates, meta);
      this.childBlockDefsByName[unavailableRuleDef.name] = unavailableRuleDef;
    }
  }

  window.telepath.register("wagtail_segments.RuleStreamBlock", RuleStreamBlockDefinition);
})();
