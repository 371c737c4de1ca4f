/* wagtail_segments: personalised blocks in the page editor.
 *
 * A personalised block is Wagtail's struct block of a default and a list of
 * variants. Here the list follows the default:
 * - a new variant starts as a copy of the default's current content, so the
 *   editor changes only what differs;
 * - a variant's header names its segments as soon as they are ticked;
 * - each field of a variant's content says whether it is the same as the
 *   default's, differs, or is blank where the default is not (a variant's
 *   blank field is not filled in from the default: its segments see it blank).
 * Wagtail 7.4 and 8 share the wagtailStreamField API used here.
 */
(function () {
  "use strict";
  var blocks = window.wagtailStreamField.blocks;
  // ms: longer than Draftail takes to save what is typed (its stateSaveInterval, 250 ms)
  var REFRESH_DELAY = 300;

  /* A block's value as it compares: without rich text's random block keys and
   * without stream children's ids. */
  function comparable(value) {
    if (typeof value === "string") {
      var raw = richText(value);
      return raw ? { blocks: raw.blocks.map(withoutKey), entityMap: raw.entityMap } : value;
    }
    if (Array.isArray(value)) {
      return value.map(comparable);
    }
    if (value && typeof value === "object") {
      var isStreamChild = "type" in value && "value" in value;
      var result = {};
      Object.keys(value)
        .sort()
        .forEach(function (key) {
          if (!(isStreamChild && key === "id")) {
            result[key] = comparable(value[key]);
          }
        });
      return result;
    }
    return value === undefined ? null : value;
  }

  function withoutKey(block) {
    return Object.assign({}, block, { key: null });
  }

  /* Draftail's raw content (a JSON string), when the value is one. */
  function richText(value) {
    if (value.indexOf('{"blocks"') !== 0) {
      return null;
    }
    try {
      var raw = JSON.parse(value);
      return Array.isArray(raw.blocks) ? raw : null;
    } catch (error) {
      return null;
    }
  }

  /* Blank: nothing to show for it (what Wagtail's collapsed headers would show). */
  function isBlank(block) {
    var text = block.getTextLabel ? block.getTextLabel() : null;
    return !String(text || "").trim();
  }

  /* How a variant's field compares with the default's: "same", "differs" or "blank". */
  function comparison(block, defaultBlock) {
    var value = JSON.stringify(comparable(block.getValue()));
    if (value === JSON.stringify(comparable(defaultBlock.getValue()))) {
      return "same";
    }
    return isBlank(block) && !isBlank(defaultBlock) ? "blank" : "differs";
  }

  /* A struct block's fields by name; any other block is one field. */
  function fieldsOf(block) {
    return block.childBlocks || { "": block };
  }

  function copyOf(block) {
    return block.getDuplicatedState ? block.getDuplicatedState() : block.getState();
  }

  /* Show ``result`` ("same", "differs", "blank" or null for none) by a field's label. */
  function mark(block, result, strings) {
    var element = block.container ? block.container[0] : block.element;
    var wrapper = element && element.closest("[data-contentpath], [data-structblock-child]");
    if (!wrapper) {
      return;
    }
    var target =
      wrapper.querySelector(":scope > .w-field__label") ||
      wrapper.querySelector("[data-panel-heading]") ||
      wrapper;
    var marker = target.querySelector(":scope > .wsg-marker");
    if (!result) {
      if (marker) {
        marker.remove();
      }
      return;
    }
    if (!marker) {
      marker = document.createElement("span");
      target.appendChild(marker);
    }
    marker.className = "wsg-marker wsg-marker--" + result;
    marker.textContent = strings[result.toUpperCase()];
  }

  class VariantListBlock extends blocks.ListBlock {
    /* Follow ``defaultBlock``; ``container`` holds the default and the variants. */
    follow(defaultBlock, container) {
      this.defaultBlock = defaultBlock;
      var refreshSoon = this.refreshSoon.bind(this);
      ["input", "change", "wagtail:panel-toggle"].forEach(function (type) {
        container.addEventListener(type, refreshSoon);
      });
      this.refresh();
    }

    /* A new variant (added by any of the list's buttons) copies the default. */
    _getChildDataForInsertion(opts) {
      var data = super._getChildDataForInsertion(opts);
      if (this.defaultBlock) {
        data[1] = Object.assign({}, data[1], { value: copyOf(this.defaultBlock) });
      }
      return data;
    }

    blockCountChanged() {
      super.blockCountChanged();
      this.refreshSoon();
    }

    refreshSoon() {
      clearTimeout(this.refreshTimer);
      this.refreshTimer = setTimeout(this.refresh.bind(this), REFRESH_DELAY);
    }

    refresh() {
      if (!this.defaultBlock) {
        return;
      }
      var strings = this.blockDef.meta.strings;
      var defaults = fieldsOf(this.defaultBlock);
      this.children.forEach(function (child) {
        var variant = child.block.childBlocks;
        var named = variant.segments.getTextLabel();
        child.titleElement.text(named ? child.getTextLabel({ maxLength: 70 }) : strings.NO_SEGMENTS);
        var hidden = variant.hide.getState();
        var fields = fieldsOf(variant.value);
        Object.keys(fields).forEach(function (name) {
          var result = hidden ? null : comparison(fields[name], defaults[name]);
          mark(fields[name], result, strings);
        });
      });
    }
  }

  class VariantListBlockDefinition extends blocks.ListBlockDefinition {
    render(placeholder, prefix, initialState, initialError) {
      return new VariantListBlock(this, placeholder, prefix, initialState, initialError);
    }
  }

  class PersonalisedBlockDefinition extends blocks.StructBlockDefinition {
    render(placeholder, prefix, initialState, initialError) {
      var block = super.render(placeholder, prefix, initialState, initialError);
      block.childBlocks.variants.follow(block.childBlocks.default, block.container[0]);
      return block;
    }

    // Wagtail's struct block labels each child unless the child's definition is an
    // instance of the parent's class (a struct block, which has a header of its own):
    // a default that is a struct block counts as one here too.
    static [Symbol.hasInstance](definition) {
      return definition instanceof blocks.StructBlockDefinition;
    }
  }

  window.telepath.register("wagtail_segments.PersonalisedBlock", PersonalisedBlockDefinition);
  window.telepath.register("wagtail_segments.VariantListBlock", VariantListBlockDefinition);
})();
