/* Search as you type: the ARIA 1.2 combobox pattern (list autocomplete) on inputs that carry
   data-suggest="<url of /api/v1/suggest>". Enhancement only: without this script the form submits
   as usual, and Enter without a highlighted option still submits what was typed. */
(function () {
  "use strict";

  var DELAY = 150;      // ms after the last key before asking: fewer requests while typing fast
  var MIN_CHARS = 2;

  function enhance(input, index) {
    var url = input.getAttribute("data-suggest");
    var listId = input.id + "-suggestions";
    var list = document.createElement("ul");
    var status = document.createElement("div");
    var countText = input.getAttribute("data-suggest-count") || "{n}";
    var noneText = input.getAttribute("data-suggest-none") || "";
    var items = [];
    var active = -1;
    var timer = null;
    var request = 0;  // answers to older requests are dropped

    list.id = listId;
    list.className = "suggestions-list";
    list.setAttribute("role", "listbox");
    if (input.labels && input.labels[0]) {
      if (!input.labels[0].id) input.labels[0].id = input.id + "-label";
      list.setAttribute("aria-labelledby", input.labels[0].id);
    }
    list.hidden = true;
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    input.parentNode.classList.add("suggest-anchor");
    input.parentNode.insertBefore(list, input.nextSibling);
    input.parentNode.appendChild(status);

    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listId);

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(i) {
      var options = list.children;
      if (active >= 0 && options[active]) options[active].setAttribute("aria-selected", "false");
      active = i;
      if (i < 0) {
        input.removeAttribute("aria-activedescendant");
        return;
      }
      options[i].setAttribute("aria-selected", "true");
      input.setAttribute("aria-activedescendant", options[i].id);
      if (options[i].scrollIntoView) options[i].scrollIntoView({block: "nearest"});
    }

    function go(i) {
      window.location.assign(items[i].url);
    }

    function render(data) {
      items = data;
      list.textContent = "";
      active = -1;
      input.removeAttribute("aria-activedescendant");
      data.forEach(function (item, i) {
        var option = document.createElement("li");
        option.id = listId + "-" + i;
        option.className = "suggestion suggestion--" + item.kind;
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        option.textContent = item.label;
        option.addEventListener("mousedown", function (event) {
          event.preventDefault();  // keep focus in the input until we navigate
        });
        option.addEventListener("click", function () { go(i); });
        list.appendChild(option);
      });
      var open = data.length > 0;
      list.hidden = !open;
      input.setAttribute("aria-expanded", open ? "true" : "false");
      status.textContent = open ? countText.replace("{n}", String(data.length)) : noneText;
    }

    function fetchSuggestions() {
      var q = input.value.trim();
      if (q.length < MIN_CHARS) {
        render([]);
        status.textContent = "";
        return;
      }
      var mine = ++request;
      fetch(url + "?q=" + encodeURIComponent(q), {headers: {"Accept": "application/json"},
                                                  credentials: "same-origin"})
        .then(function (response) { return response.ok ? response.json() : []; })
        .then(function (data) {
          if (mine === request && document.activeElement === input) render(data);
        })
        .catch(function () { /* suggestions are a nicety: the form still works */ });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(fetchSuggestions, DELAY);
    });

    input.addEventListener("keydown", function (event) {
      var open = !list.hidden && items.length > 0;
      if (event.key === "ArrowDown") {
        if (!open) { fetchSuggestions(); return; }
        event.preventDefault();
        highlight(active < items.length - 1 ? active + 1 : 0);
      } else if (event.key === "ArrowUp") {
        if (!open) return;
        event.preventDefault();
        highlight(active > 0 ? active - 1 : items.length - 1);
      } else if (event.key === "Enter") {
        if (open && active >= 0) {
          event.preventDefault();
          go(active);
        }  // else the form submits what was typed
      } else if (event.key === "Escape") {
        if (open) {
          event.preventDefault();
          close();
        } else if (input.value) {
          input.value = "";
        }
      } else if (event.key === "Tab") {
        close();
      }
    });

    input.addEventListener("blur", function () { setTimeout(close, 100); });
  }

  function init() {
    var inputs = document.querySelectorAll("input[data-suggest]");
    for (var i = 0; i < inputs.length; i++) enhance(inputs[i], i);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
