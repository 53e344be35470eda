// The front desk's booking page (admin/booking/appointment/book.html): find a patient as you type,
// pick them, and keep them picked when the doctor or the day changes. Without JavaScript the page
// still books (the "New patient" fields and ?patient= links work on their own).
(function () {
  "use strict";
  const search = document.getElementById("patient-search");
  if (!search) return;
  const results = document.getElementById("patient-results");
  const hidden = document.querySelector('#staff-booking-form input[name="patient"]');
  const picked = document.getElementById("patient-picked");
  const pickedName = document.getElementById("patient-picked-name");
  const pickedDetails = document.getElementById("patient-picked-details");
  const box = document.getElementById("patient-search-box");
  const dayForm = document.getElementById("staff-booking-day");
  let timer = null;
  let asked = 0;

  function keepPatientInDayForm(id) {
    let input = dayForm.querySelector('input[name="patient"]');
    if (!id) {
      if (input) input.remove();
      return;
    }
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = "patient";
      dayForm.appendChild(input);
    }
    input.value = id;
    document.querySelectorAll("a[data-keep-patient]").forEach(function (link) {
      const url = new URL(link.href, window.location.href);
      url.searchParams.set("patient", id);
      link.href = url.toString();
    });
  }

  function pick(person) {
    hidden.value = person.id;
    pickedName.textContent = person.name;
    pickedDetails.textContent = [person.phone, person.national_id, person.email].filter(Boolean).join(" · ");
    picked.hidden = false;
    box.hidden = true;
    keepPatientInDayForm(person.id);
  }

  function show(people) {
    results.replaceChildren();
    if (!people.length) {
      const none = document.createElement("li");
      none.className = "text-base-500 text-sm";
      none.textContent = search.dataset.none;
      results.appendChild(none);
      return;
    }
    people.forEach(function (person) {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.setAttribute("role", "option");
      button.className =
        "w-full text-left border border-base-200 rounded-default px-3 py-2 hover:bg-base-50 dark:border-base-700 dark:hover:bg-base-800";
      const name = document.createElement("strong");
      name.textContent = person.name;
      const details = document.createElement("span");
      details.className = "text-base-500 ml-2";
      details.textContent = [person.phone, person.national_id, person.email].filter(Boolean).join(" · ");
      button.append(name, details);
      button.addEventListener("click", function () {
        pick(person);
      });
      item.appendChild(button);
      results.appendChild(item);
    });
  }

  search.addEventListener("input", function () {
    clearTimeout(timer);
    const query = search.value.trim();
    if (query.length < 2) {
      results.replaceChildren();
      return;
    }
    timer = setTimeout(function () {
      const mine = ++asked;
      fetch(search.dataset.url + "?" + new URLSearchParams({ q: query }), {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      })
        .then(function (response) {
          return response.ok ? response.json() : { patients: [] };
        })
        .then(function (answer) {
          if (mine === asked) show(answer.patients);
        });
    }, 200);
  });

  document.getElementById("patient-change").addEventListener("click", function () {
    hidden.value = "";
    picked.hidden = true;
    box.hidden = false;
    keepPatientInDayForm("");
    search.focus();
  });

  document.querySelectorAll("[data-autosubmit]").forEach(function (field) {
    field.addEventListener("change", function () {
      dayForm.requestSubmit();
    });
  });
})();
