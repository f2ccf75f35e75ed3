// The concept picker as one combobox (WAI-ARIA "combobox with listbox popup"): type to search, move
// through the matches with the arrow keys, Enter chooses, Escape closes. The chosen concept's code goes
// in a hidden input; "Chosen: ..." shows it, with a button to clear it.
//
// It enhances the server's markup (epr/terminology/templates/terminology/combobox.html), which works
// without JavaScript: after a submitted search the matches come as radio options, and those become
// this listbox's options. Loaded as a module, so a page with two pickers runs it once.

const DEBOUNCE_MS = 250;

class Combobox {
  constructor(root) {
    this.root = root;
    this.input = root.querySelector(".epr-combobox__input");
    this.listbox = root.querySelector("[role='listbox']");
    this.message = root.querySelector(".epr-combobox__message");
    this.status = root.querySelector(".epr-combobox__status");
    this.chosenBox = root.querySelector(".epr-combobox__chosen");
    this.chosenLabel = root.querySelector("[data-epr-combobox-chosen-label]");
    this.clearButton = root.querySelector(".epr-combobox__clear");
    this.previous = root.querySelector("[data-epr-combobox-previous]");
    this.code = root.querySelector("[data-epr-combobox-code]");
    this.noun = root.dataset.noun || "concept";
    this.minLength = Number(root.dataset.minLength || 2);
    this.url = new URL(root.dataset.searchUrl, window.location.href);
    this.active = -1;
    this.timer = 0;
    this.request = null;
    // The text the choice was made from: typing something else drops the choice, as the server does.
    this.chosenFor = this.code.value ? this.input.value : null;
    this.optionsFor = null;

    this.adoptRadios();
    this.input.setAttribute("role", "combobox");
    this.input.setAttribute("aria-autocomplete", "list");
    this.input.setAttribute("aria-expanded", "false");
    this.input.setAttribute("aria-controls", this.listbox.id);
    this.clearButton.hidden = false;
    for (const hint of root.querySelectorAll(".epr-combobox__no-js-hint")) hint.hidden = true;

    this.input.addEventListener("input", () => this.onInput());
    this.input.addEventListener("keydown", (event) => this.onKeydown(event));
    this.input.addEventListener("focus", () => {
      if (!this.code.value && this.options().length) this.open();
    });
    this.input.addEventListener("blur", () => this.close());
    // mousedown, not click: it comes before the input's blur would close the list (and keeping the
    // default from happening keeps the focus in the search box, scrolling the list included).
    this.listbox.addEventListener("mousedown", (event) => {
      event.preventDefault();
      const option = event.target.closest("[role='option']");
      if (option) this.choose(option);
    });
    this.clearButton.addEventListener("click", () => this.clear());
  }

  // The page without JavaScript listed several matches as radios: they become the listbox's options.
  adoptRadios() {
    const fieldset = this.root.querySelector("[data-epr-combobox-options]");
    if (!fieldset) return;
    const items = [];
    for (const radio of fieldset.querySelectorAll("input[type='radio']")) {
      const item = document.createElement("li");
      item.className = "epr-combobox__option";
      item.setAttribute("role", "option");
      item.dataset.value = radio.value;
      item.dataset.label = `${radio.dataset.display} (${radio.value})`;
      item.append(`${radio.dataset.display} `);
      const code = document.createElement("span");
      code.className = "epr-combobox__code";
      code.textContent = `(${radio.value})`;
      item.append(code);
      if (radio.dataset.synonym) {
        const synonym = document.createElement("span");
        synonym.className = "epr-combobox__synonym";
        synonym.textContent = radio.dataset.synonym;
        item.append(" ", synonym);
      }
      items.push(item);
    }
    fieldset.remove();
    this.code.disabled = false;
    this.setOptions(items);
    this.optionsFor = this.input.value;
    if (!this.code.value && items.length) {
      const matches = `${items.length} ${items.length === 1 ? "match" : "matches"}`;
      this.showMessage(`${matches} for “${this.input.value.trim()}”: select the search box to choose.`);
    }
  }

  options() {
    return Array.from(this.listbox.querySelectorAll("[role='option']"));
  }

  setOptions(items) {
    this.listbox.replaceChildren(...items);
    items.forEach((item, index) => {
      item.id = `${this.listbox.id}-${index}`;
      item.setAttribute("aria-selected", "false");
    });
    this.active = -1;
    this.input.removeAttribute("aria-activedescendant");
  }

  onInput() {
    const text = this.input.value.trim();
    if (this.code.value && this.input.value !== this.chosenFor) this.clear({ keepText: true });
    window.clearTimeout(this.timer);
    if (text.length < this.minLength) {
      this.request?.abort();
      this.setOptions([]);
      this.optionsFor = null;
      this.close();
      this.showMessage("");
      return;
    }
    this.timer = window.setTimeout(() => this.search(), DEBOUNCE_MS);
  }

  async search() {
    const text = this.input.value;
    this.request?.abort();
    this.request = new AbortController();
    this.url.searchParams.set("q", text);
    let html;
    try {
      const response = await fetch(this.url, {
        signal: this.request.signal,
        headers: { Accept: "text/html" },
        credentials: "same-origin",
      });
      // A redirect is the login page after the session ended: never show that as options.
      if (!response.ok || response.redirected) throw new Error(String(response.status));
      html = await response.text();
    } catch (error) {
      if (error.name === "AbortError") return;
      this.setOptions([]);
      this.close();
      this.showMessage("Search is not available just now: save the form to search, or reload the page.");
      return;
    }
    if (text !== this.input.value) return; // typed on since: a newer search follows
    const template = document.createElement("template");
    template.innerHTML = html; // server-rendered and escaped (records/partials/concept_options.html)
    this.setOptions(Array.from(template.content.querySelectorAll("[role='option']")));
    this.optionsFor = text;
    const count = this.options().length;
    if (count) {
      this.showMessage("");
      this.open();
      this.announce(
        `${count} ${count === 1 ? "match" : "matches"}. Use the up and down arrows to move, Enter to choose.`,
      );
    } else {
      this.close();
      const none = `No ${this.noun} matches “${text.trim()}”: check the spelling or try other words.`;
      this.showMessage(none);
      this.announce(none);
    }
  }

  onKeydown(event) {
    const options = this.options();
    switch (event.key) {
      case "ArrowDown":
      case "ArrowUp": {
        event.preventDefault();
        if (!options.length) {
          if (this.input.value.trim().length >= this.minLength) this.search();
          return;
        }
        if (!this.isOpen()) {
          this.open();
          this.activate(event.key === "ArrowDown" ? 0 : options.length - 1);
          return;
        }
        const step = event.key === "ArrowDown" ? 1 : -1;
        this.activate((this.active + step + options.length) % options.length);
        return;
      }
      case "Enter":
        // Enter chooses; it never submits a half-filled form from the search box.
        event.preventDefault();
        if (this.isOpen() && this.active >= 0) this.choose(options[this.active]);
        else if (options.length === 1 && this.optionsFor === this.input.value) this.choose(options[0]);
        return;
      case "Escape":
        if (this.isOpen()) {
          event.preventDefault();
          this.close();
        }
        return;
      case "Tab":
        this.close();
        return;
      default:
    }
  }

  isOpen() {
    return !this.listbox.hidden;
  }

  open() {
    if (!this.options().length) return;
    this.showMessage("");
    this.listbox.hidden = false;
    this.input.setAttribute("aria-expanded", "true");
  }

  close() {
    this.listbox.hidden = true;
    this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
    this.options().forEach((option) => option.setAttribute("aria-selected", "false"));
    this.active = -1;
  }

  activate(index) {
    const options = this.options();
    options.forEach((option, i) => option.setAttribute("aria-selected", String(i === index)));
    this.active = index;
    const option = options[index];
    this.input.setAttribute("aria-activedescendant", option.id);
    option.scrollIntoView({ block: "nearest" });
  }

  choose(option) {
    this.code.value = option.dataset.value;
    this.chosenFor = this.input.value;
    this.previous.value = this.input.value;
    this.chosenLabel.textContent = option.dataset.label;
    this.chosenBox.hidden = false;
    this.close();
    this.showMessage("");
    this.announce(`Chosen: ${option.dataset.label}`);
  }

  clear({ keepText = false } = {}) {
    this.code.value = "";
    this.chosenFor = null;
    this.chosenLabel.textContent = "";
    this.chosenBox.hidden = true;
    if (!keepText) {
      this.input.value = "";
      this.previous.value = "";
      this.setOptions([]);
      this.optionsFor = null;
      this.close();
      this.input.focus();
      this.announce(`The chosen ${this.noun} is cleared.`);
    }
  }

  showMessage(text) {
    this.message.textContent = text;
    this.message.hidden = !text;
  }

  announce(text) {
    this.status.textContent = text;
  }
}

for (const root of document.querySelectorAll("[data-epr-combobox]")) {
  new Combobox(root);
}
