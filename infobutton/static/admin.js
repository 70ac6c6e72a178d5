// Progressive enhancement for the mapping form: refresh the preview while typing.
// Without JavaScript the Preview button does the same on the server.
(function () {
  "use strict";
  var form = document.getElementById("mapping-form");
  var section = document.getElementById("preview");
  if (!form || !section || !window.fetch) return;
  var timer = null;
  var ruleFields = ["code_system", "code", "topic_id", "scope", "priority", "min_age", "max_age", "gender", "reason"];

  function value(name) {
    var el = form.elements[name];
    return el ? el.value.trim() : "";
  }

  function list(id, matches) {
    var ol = document.createElement("ol");
    ol.id = id;
    if (!matches.length) {
      var none = document.createElement("li");
      none.className = "none";
      none.textContent = "no topic";
      ol.appendChild(none);
    }
    matches.forEach(function (m) {
      var li = document.createElement("li");
      li.textContent = m.title + " ";
      var small = document.createElement("small");
      small.textContent = "(" + m.topic_id + ")";
      li.appendChild(small);
      ol.appendChild(li);
    });
    return ol;
  }

  function show(data) {
    ["preview-now", "preview-after"].forEach(function (id, i) {
      var old = document.getElementById(id);
      var fresh = list(id, i ? data.after : data.now);
      if (old) { old.replaceWith(fresh); }
    });
    var verdict = document.getElementById("preview-verdict");
    if (verdict) verdict.textContent = data.changed ? "The answer changes." : "The answer stays the same.";
  }

  function refresh() {
    if (!value("code") || !value("topic_id")) return;
    var rule = {};
    ruleFields.forEach(function (name) { rule[name] = value(name); });
    var id = form.getAttribute("data-rule-id");
    var change = id ? { op: "update", id: parseInt(id, 10), rule: rule } : { op: "add", rule: rule };
    var params = new URLSearchParams();
    params.set("mainSearchCriteria.v.c", value("code"));
    params.set("mainSearchCriteria.v.cs", value("code_system"));
    if (value("preview_age")) params.set("age.v.v", value("preview_age"));
    if (value("preview_gender")) params.set("patientPerson.administrativeGenderCode.c", value("preview_gender"));
    params.set("with", JSON.stringify(change));
    fetch(form.getAttribute("data-preview-url") + "?" + params.toString(), { credentials: "same-origin" })
      .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
      .then(function (res) {
        var verdict = document.getElementById("preview-verdict");
        if (res.ok) {
          if (!document.getElementById("preview-now")) return;  // first preview: use the button
          show(res.body);
        } else if (verdict) {
          var errors = res.body.errors || [{ message: res.body.detail }];
          verdict.textContent = errors.map(function (e) { return (e.field ? e.field + ": " : "") + e.message; }).join("; ");
        }
      })
      .catch(function () {});
  }

  form.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  });
})();
