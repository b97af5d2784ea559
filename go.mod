module github.com/aiconsent/aiconsent

go 1.26
